"""forecast: time-series forecasting, multi-horizon with quantiles."""
