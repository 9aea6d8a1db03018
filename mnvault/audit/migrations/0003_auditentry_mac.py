"""Every entry carries a MAC: an HMAC of its sequence number and hash under a key derived
from the signing key (``audit.signing``). Entries written before this have none; ``verify``
accepts that only where a signed checkpoint covers them."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_audit_head")]
    operations = [
        migrations.AddField(
            model_name="auditentry",
            name="mac",
            field=models.CharField(blank=True, default="", max_length=64),
        )
    ]
