from grader.cli import main

if __name__ == "__main__":  # not when a spawned slot process imports this as __mp_main__
    main()
