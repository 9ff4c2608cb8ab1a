//! Several files merged by time (being written).
