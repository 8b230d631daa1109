from tuikanban.cli import main

main()
