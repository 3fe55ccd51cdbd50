from django.db import models


class Entry(models.Model):
    author = models.CharField(max_length=80)
    text = models.TextField()
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created"]
        verbose_name_plural = "entries"

    def __str__(self) -> str:
        return f"{self.author}: {self.text[:40]}"


class Upload(models.Model):
    file = models.FileField(upload_to="uploads/")
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.file.name
