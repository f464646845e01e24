from openscope.cli import main

raise SystemExit(main())
