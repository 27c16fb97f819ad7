# Help with model ids: suggestions and "did you mean".
did-you-mean = Did you mean { $id }?
did-you-mean-typed = (you typed { $id })
did-you-mean-use = Use { $id }
did-you-mean-use-all = Use these { $n ->
    [one] { $n } id
   *[other] { $n } ids
}
did-you-mean-as-typed = Use them as typed
notice-did_you_mean = Some model ids are close to known models and may be mistyped.
models-suggest-hint = While you type, the models you have used and ModelScope's catalogue are suggested.
