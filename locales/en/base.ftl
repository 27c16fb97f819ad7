# The page frame: title, navigation, footer.
app-name = ModelScope quota check
nav-label = Main navigation
nav-menu = Menu
nav-skip = Skip to content
nav-dashboard = Overview
nav-query = Query
nav-presets = Presets
nav-keys = API keys
nav-monitors = Monitors
nav-history = History
nav-admin = Admin
nav-sign-out = Sign out
nav-sign-in = Sign in
nav-sign-up = Sign up
footer-billing = ModelScope API-Inference is billed in points ("magicubes" in its API): each call of a model costs its price (light 0.5, mainstream 1, flagship 2 points); "Check balance only" is free. Short-term points are granted daily for logging in to the ModelScope website and last 24 hours.
