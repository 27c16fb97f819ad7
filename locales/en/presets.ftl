presets-title = Model presets
presets-intro = A preset is a set of model ids you check often, picked with one click; the default preset is selected in advance. At most { $presets } presets of at most { $models } models each.
presets-none = No preset yet. Make one below, and you will not need to type the models each time.
presets-col-name = Name
presets-col-models = Models
presets-col-updated = Updated
presets-col-actions = Actions
presets-default = default
presets-model-count = { $count ->
    [one] 1 model:
   *[other] { $count } models:
}{" "}
presets-make-default = Make default
presets-delete = Delete
presets-edit = Edit
presets-add-from-catalogue = Add from the model catalogue
presets-search-placeholder = type to search, e.g. Qwen
presets-edit-hint = One per line, or separated by commas or spaces; duplicates are dropped and the order kept. A model picked in “Add from the model catalogue” is added at the end when you save.
presets-set-default = Make this the default preset
presets-save = Save
presets-new = New preset
presets-name-placeholder = e.g. daily checks
presets-new-hint = One per line, or separated by commas or spaces, at most { $max }; duplicates are dropped and the order kept. A model picked in “Add from the model catalogue” is added at the end when you save.
presets-catalogue-down = {" "}(The model catalogue cannot be reached right now; type model ids directly.)
presets-create = Create preset
prices-title = Model prices
prices-intro = No API tells what a call of a model costs: the points every query spends teach the prices (a query of exactly one model measures its price; several queries together pin the prices of several models), “Measure prices” measures the unknown ones one by one, and you can set one here (for you only; it wins over measured and inferred ones). With an unknown price, “Calls left” shows the range the prices it may still have allow.
prices-col-setting = Setting
prices-select-label = Price of { $model }
prices-not-set = Not set (use the measured one)
census-button = Measure prices (about { $cost } points)
census-title = Measure prices
census-intro = Pick a key and a preset: each model whose price is unknown is called once, the free points balance read before and after, and the difference is its price. It never spends beyond the budget (empty: the available points): a model is called only while the budget left covers the dearest price it may have.
census-budget = Budget (points, optional)
census-run = Measure prices
census-nothing = Every price of these presets' models is known.
census-cost = { $name }: about { $cost } points
prices-changed = changed from { $from } to { $to } ({ $at })
