ALTER TABLE notifications RESET (fillfactor);
