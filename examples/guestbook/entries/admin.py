from django.contrib import admin

from .models import Entry, Upload

admin.site.register(Entry)
admin.site.register(Upload)
