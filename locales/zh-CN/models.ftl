# 模型 ID 的帮助：建议和“你是不是要找”。
did-you-mean = 你是不是要找 { $id }？
did-you-mean-typed = （你输入的是 { $id }）
did-you-mean-use = 改用 { $id }
did-you-mean-use-all = 改用这 { $n } 个模型 ID
did-you-mean-as-typed = 按输入的原样使用
notice-did_you_mean = 有的模型 ID 和已知的模型很接近，可能输错了。
models-suggest-hint = 输入时会提示你用过的模型和魔搭模型列表里的模型。
