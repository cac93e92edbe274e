from devops_orchestra.cli import main

raise SystemExit(main())
