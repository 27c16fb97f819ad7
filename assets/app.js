// Progressive enhancement comes with the query page.
