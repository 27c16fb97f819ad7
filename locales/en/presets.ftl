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
presets-add-from-catalogue = Add models (yours and the catalogue’s)
presets-search-placeholder = type to search, e.g. Qwen
presets-edit-hint = One per line, or separated by commas or spaces; duplicates are dropped and the order kept. Models picked or typed in “Add models” (one or several) are added at the end; with JavaScript each pick moves into the list at once, so pick several, then save once.
presets-set-default = Make this the default preset
presets-save = Save
presets-new = New preset
presets-name-placeholder = e.g. daily checks
presets-new-hint = One per line, or separated by commas or spaces, at most { $max }; duplicates are dropped and the order kept. Models picked or typed in “Add models” (one or several) are added at the end; with JavaScript each pick moves into the list at once, so pick several, then save once.
presets-catalogue-down = {" "}(The model catalogue cannot be reached right now; type model ids directly.)
presets-create = Create preset
prices-title = Model prices
prices-intro = No API tells what a call of a model costs: a query that calls exactly one model measures its price (the balance before minus after), and you can set one here (for you only; it wins over a measured one). With an unknown price, “Calls left” shows the range that 0.5 to 2 points per call allows.
prices-col-setting = Setting
prices-select-label = Price of { $model }
prices-not-set = Not set (use the measured one)
prices-save-all = Save the prices
