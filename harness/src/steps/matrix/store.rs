//! Store-fault cells: the link to the store slow, cut, half-open or reset.
