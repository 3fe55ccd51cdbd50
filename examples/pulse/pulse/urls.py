from beats import views
from django.urls import path

urlpatterns = [
    path("", views.index),
    path("beat/", views.beat),
]
