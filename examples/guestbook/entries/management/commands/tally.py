"""A background job for a worker: counts the guestbook's entries now and then."""

import time

from django.core.management.base import BaseCommand

from entries.models import Entry


class Command(BaseCommand):
    help = "Print how many entries the guestbook holds, every --every seconds (or --once)."

    def add_arguments(self, parser):
        parser.add_argument("--every", type=float, default=30.0, help="seconds between two counts")
        parser.add_argument("--once", action="store_true", help="count once and stop")

    def handle(self, *args, every: float, once: bool, **options):
        while True:
            self.stdout.write(f"tally: {Entry.objects.count()} entries", ending="\n")
            self.stdout.flush()
            if once:
                return
            time.sleep(every)
