# expect: safe
from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("shop", "0002_order_fields")]

    operations = [
        migrations.AddField(model_name="order", name="note", field=models.TextField(null=True)),
        migrations.AddField(model_name="order", name="paid", field=models.BooleanField(default=False)),
        AddIndexConcurrently(
            model_name="order",
            index=models.Index(fields=["paid"], name="order_paid_idx"),
        ),
    ]
