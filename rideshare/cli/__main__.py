from rideshare.cli import main

main()
