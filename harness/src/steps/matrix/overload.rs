//! Overload cells: requests at 4× the measured capacity, at a fixed arrival rate.
