"""Hand grades to the tools instructors use: one module per format, one scoring module behind them all."""
