from phta.cli.main import main

main()
