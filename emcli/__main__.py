from emcli.cli import main

main()
