from django.db import models


class Recipe(models.Model):
    title = models.CharField(max_length=200, unique=True)
    card = models.FileField(upload_to="recipes/", blank=True)

    def __str__(self) -> str:
        return self.title
