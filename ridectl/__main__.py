from ridectl.launch import main

main()
