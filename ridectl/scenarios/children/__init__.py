"""Programs the lessons start as processes of their own (group members, a transactional
producer): real client code, run only by the scenarios that need it."""
