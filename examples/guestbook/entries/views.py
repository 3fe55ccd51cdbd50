from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from .models import Entry, Upload


def index(request: HttpRequest) -> HttpResponse:
    """Writes and reads the database, the session and the cache."""
    if request.method == "POST":
        author = request.POST.get("author", "").strip()[:80] or "anonymous"
        text = request.POST.get("text", "").strip()
        if text:
            Entry.objects.create(author=author, text=text)
        return redirect("index")
    visits = request.session.get("visits", 0) + 1
    request.session["visits"] = visits
    cache.add("page_views", 0)
    try:
        page_views = cache.incr("page_views")
    except ValueError:  # evicted between add and incr, or no cache at all
        page_views = None
    return render(
        request,
        "entries/index.html",
        {
            "greeting": settings.GUESTBOOK_GREETING,
            "entries": Entry.objects.all()[:20],
            "uploads": Upload.objects.order_by("-created")[:5],
            "visits": visits,
            "page_views": page_views,
        },
    )


def hello(request: HttpRequest) -> HttpResponse:
    return HttpResponse(f"{settings.GUESTBOOK_GREETING}\n", content_type="text/plain")


def count(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"entries": Entry.objects.count()})


@require_POST
def upload(request: HttpRequest) -> HttpResponse:
    if "file" in request.FILES:
        Upload.objects.create(file=request.FILES["file"])
    return redirect("index")


def uploaded(request: HttpRequest, pk: int) -> HttpResponse:
    """An upload's content, read through the project's storage (as a thumbnailer or an
    import would read it): whichever web server answers must find it."""
    upload = get_object_or_404(Upload, pk=pk)
    with upload.file.open("rb") as handle:
        return HttpResponse(handle.read(), content_type="application/octet-stream")


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """503 when the database does not answer; the cache is reported, never required."""
    checks = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        checks["database"] = "ok"
    except Exception as error:
        checks["database"] = f"error: {type(error).__name__}"
    try:
        cache.set("healthz", "ok", 10)
        checks["cache"] = "ok" if cache.get("healthz") == "ok" else "miss"
    except Exception as error:
        checks["cache"] = f"error: {type(error).__name__}"
    status = 200 if checks["database"] == "ok" else 503
    return JsonResponse(checks, status=status)
