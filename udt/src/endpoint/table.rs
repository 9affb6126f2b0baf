//! The endpoint's connections: a vector kept sorted by handle. Handles only grow,
//! so inserting is a push, finding is a binary search, and the transmit
//! round-robin walks a slice.

use super::ConnectionHandle;
use crate::conn::Connection;

#[derive(Debug, Default)]
pub(super) struct Table {
    entries: Vec<(ConnectionHandle, Connection)>,
}

impl Table {
    pub(super) fn insert(&mut self, h: ConnectionHandle, conn: Connection) {
        debug_assert!(self.entries.last().is_none_or(|(last, _)| *last < h));
        self.entries.push((h, conn));
    }

    fn index(&self, h: ConnectionHandle) -> Option<usize> {
        self.entries.binary_search_by_key(&h, |(k, _)| *k).ok()
    }

    pub(super) fn get(&self, h: ConnectionHandle) -> Option<&Connection> {
        self.index(h).map(|i| &self.entries[i].1)
    }

    pub(super) fn get_mut(&mut self, h: ConnectionHandle) -> Option<&mut Connection> {
        self.index(h).map(|i| &mut self.entries[i].1)
    }

    pub(super) fn remove(&mut self, h: ConnectionHandle) -> Option<Connection> {
        self.index(h).map(|i| self.entries.remove(i).1)
    }

    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = (ConnectionHandle, &Connection)> {
        self.entries.iter().map(|(h, c)| (*h, c))
    }

    pub(super) fn slots_mut(&mut self) -> &mut [(ConnectionHandle, Connection)] {
        &mut self.entries
    }
}
