"""Each checkpoint row names the checkpoint file its line was appended to (by that file's
genesis line), so that ``verify`` can require the row's line in that file and no other: with
several app servers, each may keep a file of its own."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_auditentry_mac")]
    operations = [
        migrations.AddField(
            model_name="auditcheckpoint",
            name="file_id",
            field=models.CharField(blank=True, default="", max_length=32),
        )
    ]
