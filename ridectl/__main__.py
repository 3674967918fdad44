from ridectl.cli import main

main()
