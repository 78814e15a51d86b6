from model.benchmark.command import main

main()
