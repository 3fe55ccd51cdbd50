"""Loads the recipes of fixtures/ with their cards (fixtures/media/) into the site."""

from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.core.management.base import BaseCommand

from recipes.models import Recipe

FIXTURES = Path(settings.BASE_DIR) / "fixtures" / "media" / "recipes"


class Command(BaseCommand):
    help = "Load the example recipes and their cards."

    def handle(self, *args, **options):
        loaded = 0
        for card in sorted(FIXTURES.glob("*.txt")):
            title = card.stem.replace("-", " ").capitalize()
            recipe, created = Recipe.objects.get_or_create(title=title)
            if created or not recipe.card:
                with card.open("rb") as handle:
                    recipe.card.save(card.name, File(handle), save=True)
                loaded += 1
        self.stdout.write(f"loaded {loaded} recipe(s)")
