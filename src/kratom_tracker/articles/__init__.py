"""Articles: what a published page says about the law, checked against the status in force.

`claims` (pure, below the rules) reads an article's HTML or text and finds the places it names and its
statements about legal status, by rule; `check` (beside publish and notify) compares each with
`rules.status_document` and gives every claim a verdict with its citation."""
