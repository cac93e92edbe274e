"""The devops_orchestra.yaml schema, the generators of build, CI and deploy files, their templates and linters."""
