from experiments.compare.write import main

raise SystemExit(main())
