# expect: integer-primary-key, django-alter-field
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("shop", "0003_safe")]

    operations = [
        migrations.CreateModel(
            name="Coupon",
            fields=[
                ("id", models.AutoField(primary_key=True, serialize=False)),
                ("code", models.CharField(max_length=32, unique=True)),
            ],
        ),
        migrations.AlterField(model_name="order", name="note", field=models.TextField(null=True, blank=True)),
    ]
