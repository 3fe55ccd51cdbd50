from django.conf import settings
from django.contrib import admin
from django.urls import path
from django.views.generic import RedirectView
from recipes import views

urlpatterns = [
    # No health URL: the front page redirects.
    path("", RedirectView.as_view(url="/recipes/", permanent=True)),
    path("recipes/", views.index, name="index"),
    path("recipes/<int:pk>/", views.detail, name="detail"),
    path(settings.ADMIN_URL, admin.site.urls),
]
