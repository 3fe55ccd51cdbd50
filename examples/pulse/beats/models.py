from django.db import models


class Beat(models.Model):
    at = models.DateTimeField(auto_now_add=True)
