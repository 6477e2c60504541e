"""genlab's terminal UI: the course map, quizzes, free recall, reviews, grading and progress.

Importing this package (or running the app) never imports torch: grading runs `grade` in a
separate process, and everything here reads only the bank, the catalog and the store.
"""
