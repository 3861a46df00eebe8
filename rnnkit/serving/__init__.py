"""TF Serving: the preflight check of exported versions and the clients the apps use."""
