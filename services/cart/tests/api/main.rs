//! Integration tests of cart: the real application, and the real product service it calls, on
//! free ports against real stores.

mod carts;
mod helpers;
