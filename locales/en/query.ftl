query-title = Query
query-heading = Check quotas
query-use-pasted = Use the key pasted below (not saved)
query-pasted-key = Pasted API key
query-pasted-site = Site of the pasted key
query-pasted-cn = The pasted key belongs to ModelScope China (modelscope.cn)
query-pasted-ai = The pasted key belongs to the international site (modelscope.ai)
query-save-a-key = Save a key, and you will not need to paste it again.
query-preset = Preset
query-no-preset = No preset (enter models below)
query-preset-option = { $name } ({ $count ->
    [one] 1 model
   *[other] { $count } models
}, about { $cost } points)
query-preset-default = {" "}(default)
query-or-models = Or enter model ids
query-hint = Models entered here win over the preset. At most { $max }; “Query” calls each model once at its price (light 0.5, mainstream 1, flagship 2 points) and stores the results in the history; “Check balance only” is free.
