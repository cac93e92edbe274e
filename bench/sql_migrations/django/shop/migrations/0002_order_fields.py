# expect: adding-not-null-column, index-not-concurrent, dropping-column
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="order",
            name="currency",
            field=models.CharField(max_length=3),
        ),
        migrations.AddIndex(
            model_name="order",
            index=models.Index(fields=["created_at"], name="order_created_idx"),
        ),
        migrations.RemoveField(model_name="order", name="legacy_total"),
    ]
