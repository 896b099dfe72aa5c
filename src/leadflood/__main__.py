from leadflood.cli import main

main()
