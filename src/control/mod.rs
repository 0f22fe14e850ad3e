//! The closed loop: observe -> detect -> decide -> guard -> act (placeholder, being written).
