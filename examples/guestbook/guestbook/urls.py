from django.contrib import admin
from django.urls import path
from entries import views

urlpatterns = [
    path("", views.index, name="index"),
    path("hello/", views.hello, name="hello"),
    path("count/", views.count, name="count"),
    path("upload/", views.upload, name="upload"),
    path("uploads/<int:pk>/", views.uploaded, name="uploaded"),
    path("healthz/", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
]
