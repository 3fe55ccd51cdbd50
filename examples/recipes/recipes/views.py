from django.shortcuts import get_object_or_404, render

from .models import Recipe


def index(request):
    return render(request, "recipes/index.html", {"recipes": Recipe.objects.order_by("title")})


def detail(request, pk):
    return render(request, "recipes/detail.html", {"recipe": get_object_or_404(Recipe, pk=pk)})
