"""GitOps in: GitHub webhooks (verified, deduplicated) and polling start the orchestra's pipeline runs."""
