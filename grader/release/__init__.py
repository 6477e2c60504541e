"""A student copy of the course (`grade release OUT`): no solutions, recorded reference answers.

``fingerprint`` names an input by its content, ``answers`` records the reference's outputs
(and gradients) on the inputs the properties draw and replays them in the student copy,
``build`` writes the copy, ``audit`` finds reference source in a folder.
"""
