import asyncio

from django.conf import settings
from django.http import JsonResponse

from .models import Beat


async def index(request):
    """Async all the way: the event loop serves this under uvicorn workers."""
    await asyncio.sleep(0)
    return JsonResponse(
        {
            "version": settings.PULSE_VERSION,
            "beats": await Beat.objects.acount(),
            "event_loop": asyncio.get_running_loop().__class__.__name__,
        }
    )


async def beat(request):
    await Beat.objects.acreate()
    return JsonResponse({"beats": await Beat.objects.acount()})
