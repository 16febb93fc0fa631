// Package models is the example app's user store: in memory here, a MySQL
// table in the book's app. Emails match case-insensitively, as MySQL's
// default collation does.
package models

import (
	"errors"
	"strings"
	"sync"
)

// ErrInvalidCredentials and ErrNoRecord are the model's errors.
var (
	ErrInvalidCredentials = errors.New("models: invalid credentials")
	ErrNoRecord           = errors.New("models: no matching record found")
)

// User is one account.
type User struct {
	ID             int
	Name           string
	Email          string
	EmailConfirmed bool // the user followed the link mailed to Email
	password       string
}

// UserModel is the user store.
type UserModel struct {
	mu    sync.Mutex
	users []User
}

// NewUserModel returns a store holding users (ids from 1), password "pa55word".
func NewUserModel(users ...User) *UserModel {
	m := &UserModel{}
	for i, u := range users {
		u.ID, u.password = i+1, "pa55word"
		m.users = append(m.users, u)
	}
	return m
}

// Authenticate returns the id of the user with that email and password.
func (m *UserModel) Authenticate(email, password string) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, u := range m.users {
		if strings.EqualFold(u.Email, email) && u.password == password {
			return u.ID, nil
		}
	}
	return 0, ErrInvalidCredentials
}

// Get returns the user with id.
func (m *UserModel) Get(id int) (User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, u := range m.users {
		if u.ID == id {
			return u, nil
		}
	}
	return User{}, ErrNoRecord
}
