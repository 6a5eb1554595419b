//! Integration tests of product: the real application on a free port, against real stores.

mod categories;
mod helpers;
mod products;
mod reservations;
mod search;
mod writes;
